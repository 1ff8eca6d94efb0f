<?php
/*
 * Roundcube for Hop3: every setting comes from the environment. The database is the postgres addon's (PG*),
 * the mail servers are the install's answers (IMAP_HOST, SMTP_HOST), the key that encrypts the IMAP password in
 * the session is generated once by hop3.toml [env]. Logs go to the container's output (hop logs).
 */
function hop3_env(string $name, ?string $default = null): string {
    $value = getenv($name);
    if ($value === false || $value === '') {
        if ($default !== null) return $default;
        error_log("roundcube config: $name is not set");
        if (PHP_SAPI !== 'cli') http_response_code(500);
        exit("Roundcube is not configured: $name is not set (attach a postgres addon and deploy again)\n");
    }
    return $value;
}

$config = [];
$config['db_dsnw'] = sprintf('pgsql://%s:%s@%s:%s/%s',
    rawurlencode(hop3_env('PGUSER')), rawurlencode(hop3_env('PGPASSWORD')),
    hop3_env('PGHOST'), hop3_env('PGPORT', '5432'), hop3_env('PGDATABASE'));

$config['imap_host'] = hop3_env('IMAP_HOST', 'ssl://localhost:993');
$config['smtp_host'] = hop3_env('SMTP_HOST', 'tls://localhost:587');
// the user's IMAP login and password are used for SMTP too
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';
$config['des_key'] = hop3_env('ROUNDCUBE_DES_KEY');
$config['product_name'] = hop3_env('PRODUCT_NAME', 'Roundcube Webmail');

// behind the router: it terminates TLS and says so in X-Forwarded-Proto
$config['use_https'] = false;
$config['proxy_whitelist'] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.1'];
$config['force_https'] = false;
$config['session_samesite'] = 'Lax';
$config['login_rate_limit'] = 3;
$config['ip_check'] = false;

$config['log_driver'] = 'stdout';
$config['temp_dir'] = '/tmp/roundcube/';
$config['enable_installer'] = false;
$config['skin'] = 'elastic';
$config['plugins'] = ['archive', 'zipdownload', 'markasjunk'];
$config['drafts_mbox'] = 'Drafts';
$config['junk_mbox'] = 'Junk';
$config['sent_mbox'] = 'Sent';
$config['trash_mbox'] = 'Trash';

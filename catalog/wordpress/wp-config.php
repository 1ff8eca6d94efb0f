<?php
/*
 * WordPress for Hop3: every setting comes from the environment. The database is the mysql addon's (MYSQL_*),
 * the keys and salts are generated once by hop3.toml [env], the URL is the one the request came in on (the
 * router only forwards the app's own host names), or HOP3_PUBLIC_URL outside a request (the release phase).
 */
function hop3_env(string $name, ?string $default = null): string {
    $value = getenv($name);
    if ($value === false || $value === '') {
        if ($default !== null) return $default;
        error_log("wp-config: $name is not set");
        if (PHP_SAPI !== 'cli') http_response_code(500);
        exit("WordPress is not configured: $name is not set (attach a mysql addon and deploy again)\n");
    }
    return $value;
}

define('DB_NAME', hop3_env('MYSQL_DATABASE'));
define('DB_USER', hop3_env('MYSQL_USER'));
define('DB_PASSWORD', hop3_env('MYSQL_PASSWORD'));
define('DB_HOST', hop3_env('MYSQL_HOST') . ':' . hop3_env('MYSQL_PORT', '3306'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';

foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
          'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $key) {
    define($key, hop3_env('WP_' . $key));
}

if (($_SERVER['HTTP_X_FORWARDED_PROTO'] ?? '') === 'https') $_SERVER['HTTPS'] = 'on';
if (!empty($_SERVER['HTTP_HOST'])) {
    $hop3_url = ((($_SERVER['HTTPS'] ?? '') === 'on') ? 'https' : 'http') . '://' . $_SERVER['HTTP_HOST'];
} else {
    $hop3_url = rtrim(hop3_env('HOP3_PUBLIC_URL', 'http://localhost'), '/');
}
define('WP_HOME', $hop3_url);
define('WP_SITEURL', $hop3_url);
define('WP_CONTENT_DIR', '/data/wp-content');
define('WP_CONTENT_URL', $hop3_url . '/wp-content');

// plugins and themes install into the volume; the core is the Debian package's (updated by a new image)
define('FS_METHOD', 'direct');
define('WP_AUTO_UPDATE_CORE', false);
define('DISALLOW_FILE_EDIT', true);
define('WP_ALLOW_MULTISITE', false);

if (!defined('ABSPATH')) define('ABSPATH', '/usr/share/wordpress/');
require_once ABSPATH . 'wp-settings.php';

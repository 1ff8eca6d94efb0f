<?php
/* Exit 0 when the addon's database already has MediaWiki's tables, 1 when it is empty, 2 when unreachable. */
mysqli_report(MYSQLI_REPORT_OFF);
$db = @new mysqli(getenv('MYSQL_HOST'), getenv('MYSQL_USER'), getenv('MYSQL_PASSWORD'), getenv('MYSQL_DATABASE'),
    (int) (getenv('MYSQL_PORT') ?: 3306));
if ($db->connect_errno) {
    fwrite(STDERR, "cannot reach the database: {$db->connect_error}\n");
    exit(2);
}
$r = $db->query("SHOW TABLES LIKE 'page'");
exit($r && $r->num_rows > 0 ? 0 : 1);

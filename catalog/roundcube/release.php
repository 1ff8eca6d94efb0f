<?php
/*
 * The release phase: an empty database gets Roundcube's schema (SQL/postgres.initial.sql); an existing one is
 * brought to this image's version (the SQL/postgres/<version>.sql updates newer than the one it records).
 */
define('INSTALL_PATH', '/var/lib/roundcube/');
require_once INSTALL_PATH . 'program/include/clisetup.php';

$db = rcmail_utils::db();
if (!in_array($db->table_name('system'), (array) $db->list_tables())) {
    rcmail_utils::db_init(INSTALL_PATH . 'SQL');
    echo "Roundcube: database schema created (version " . rcmail_utils::db_version() . ")\n";
} else {
    if (!rcmail_utils::db_update(INSTALL_PATH . 'SQL', 'roundcube', null, ['errors' => true])) exit(1);
    echo "Roundcube: database schema up to date (version " . rcmail_utils::db_version() . ")\n";
}

<?php
/*
 * MediaWiki for Hop3: every setting comes from the environment. The database is the mysql addon's (MYSQL_*),
 * the keys are generated once by hop3.toml [env], the server URL is the one the request came in on (the
 * router only forwards the app's host names), or HOP3_PUBLIC_URL outside a request (the release phase).
 */
if ( !defined( 'MEDIAWIKI' ) ) {
	exit;
}
function hop3_env( string $name, ?string $default = null ): string {
	$value = getenv( $name );
	if ( $value === false || $value === '' ) {
		if ( $default !== null ) return $default;
		throw new RuntimeException( "MediaWiki is not configured: $name is not set (attach a mysql addon)" );
	}
	return $value;
}

$wgSitename = hop3_env( 'SITE_TITLE', 'My wiki' );
$wgMetaNamespace = 'Project';
$wgScriptPath = '';
$wgResourceBasePath = $wgScriptPath;
if ( !empty( $_SERVER['HTTP_HOST'] ) ) {
	$wgServer = ( ( $_SERVER['HTTP_X_FORWARDED_PROTO'] ?? '' ) === 'https' ? 'https' : 'http' ) . '://' . $_SERVER['HTTP_HOST'];
} else {
	$wgServer = rtrim( hop3_env( 'HOP3_PUBLIC_URL', 'http://localhost' ), '/' );
}
$wgLogos = [
	'1x' => "$wgResourceBasePath/resources/assets/change-your-logo.svg",
	'icon' => "$wgResourceBasePath/resources/assets/change-your-logo-icon.svg",
];

$wgDBtype = 'mysql';
$wgDBserver = hop3_env( 'MYSQL_HOST' ) . ':' . hop3_env( 'MYSQL_PORT', '3306' );
$wgDBname = hop3_env( 'MYSQL_DATABASE' );
$wgDBuser = hop3_env( 'MYSQL_USER' );
$wgDBpassword = hop3_env( 'MYSQL_PASSWORD' );
$wgDBprefix = '';
$wgDBTableOptions = 'ENGINE=InnoDB, DEFAULT CHARSET=binary';

$wgSecretKey = hop3_env( 'MW_SECRET_KEY' );
$wgUpgradeKey = hop3_env( 'MW_UPGRADE_KEY' );
$wgAuthenticationTokenVersion = '1';

$wgMainCacheType = function_exists( 'apcu_fetch' ) ? CACHE_ACCEL : CACHE_NONE;
$wgMemCachedServers = [];
$wgCacheDirectory = '/tmp/mediawiki-cache';
$wgTmpDirectory = '/tmp';

$wgEnableUploads = true;
$wgUploadDirectory = '/data/images';
$wgUploadPath = "$wgScriptPath/images";
$wgUseInstantCommons = false;
$wgPingback = false;
$wgEnableEmail = false;
$wgEnableUserEmail = false;
$wgLanguageCode = hop3_env( 'SITE_LANGUAGE', 'en' );
$wgLocaltimezone = 'UTC';

// a new wiki is not open to spam: reading is public, editing needs an account, accounts are made by admins
$wgGroupPermissions['*']['createaccount'] = false;
$wgGroupPermissions['*']['edit'] = false;

$wgDefaultSkin = 'vector';
wfLoadSkin( 'Vector' );
wfLoadSkin( 'MonoBook' );
wfLoadSkin( 'Timeless' );

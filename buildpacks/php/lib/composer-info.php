<?php
// Reads composer.json for the build script, one "key<TAB>value" line each: what it requires (packages, the PHP
// version, extensions), Heroku's extra.heroku.document-root, and whether it names its own repositories.
// Exits 2 with the parser's message when composer.json is not valid JSON.
$file = $argv[1] ?? 'composer.json';
$data = json_decode((string) file_get_contents($file), true);
if (!is_array($data)) {
    fwrite(STDERR, json_last_error_msg() . "\n");
    exit(2);
}
$platform = '/^(php(-64bit|-ipv6|-zts|-debug)?|hhvm|composer(-plugin|-runtime)?-api|composer|lib-.+)$/i';
foreach (($data['require'] ?? []) as $name => $constraint) {
    $name = strtolower((string) $name);
    if (!is_string($constraint)) $constraint = '*';
    if ($name === 'php') {
        echo "php\t$constraint\n";
    } elseif (str_starts_with($name, 'ext-')) {
        echo "ext\t" . substr($name, 4) . "\n";
    } elseif (!preg_match($platform, $name)) {
        echo "package\t$name $constraint\n";
    }
}
$root = $data['extra']['heroku']['document-root'] ?? null;
if (is_string($root) && $root !== '') echo "document-root\t$root\n";
if (!empty($data['repositories'])) echo "repositories\tyes\n";

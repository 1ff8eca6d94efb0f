#!/bin/sh
# Starts Prometheus on $PORT with its time series in /data/metrics. The configuration is generated at each start
# (it scrapes itself every SCRAPE_INTERVAL) unless the admin put their own in /data/prometheus.yml; a web
# configuration in /data/web-config.yml (basic auth, TLS; Prometheus' own format) is used when it exists.
set -eu
port="${PORT:-8080}"
mkdir -p /data/metrics /tmp/prometheus
config=/data/prometheus.yml
if [ ! -f "$config" ]; then
  config=/tmp/prometheus/prometheus.yml
  cat > "$config" <<YAML
global:
  scrape_interval: ${SCRAPE_INTERVAL:-15s}
  evaluation_interval: ${SCRAPE_INTERVAL:-15s}
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:${port}"]
YAML
fi
if [ "$#" -gt 0 ] && [ "$1" = prometheus ]; then
  shift
  if [ -f /data/web-config.yml ]; then set -- --web.config.file=/data/web-config.yml "$@"; fi
  exec prometheus --config.file="$config" \
    --web.listen-address=":${port}" \
    --storage.tsdb.path=/data/metrics \
    --storage.tsdb.retention.time="${RETENTION:-15d}" \
    --web.console.templates=/etc/prometheus/consoles \
    --web.console.libraries=/etc/prometheus/console_libraries \
    "$@"
fi
exec "$@"

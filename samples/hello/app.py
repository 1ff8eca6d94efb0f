"""Hello from Hop3: answers on $PORT with a greeting that config vars can change."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.environ.get('GREETING', 'Hello from Hop3')}! app={os.environ.get('APP')} dyno={os.environ.get('DYNO')}\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "5000"))
    print(f"listening on {os.environ.get('BIND_ADDRESS', '0.0.0.0')}:{port}", flush=True)
    ThreadingHTTPServer((os.environ.get("BIND_ADDRESS", "0.0.0.0"), port), Hello).serve_forever()

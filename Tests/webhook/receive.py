"""A webhook receiver for the tests: records every POST to a JSON-lines file, answers the first
`--fail` requests with 500 and the rest with 204, and checks each signature with `--secret`.

Prints "listening on <port>" once it serves; stops by itself after `--seconds`."""
import argparse, hashlib, hmac, http.server, json, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
parser.add_argument("--secret", required=True)
parser.add_argument("--fail", type=int, default=0)
parser.add_argument("--seconds", type=float, default=120)
options = parser.parse_args()
seen = 0
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signature = dict(part.split("=", 1) for part in self.headers.get("EasyJobs-Signature", "").split(",") if "=" in part)
        expected = hmac.new(options.secret.encode(), (signature.get("t", "") + ".").encode() + body, hashlib.sha256).hexdigest()
        with lock:
            seen += 1
            status = 500 if seen <= options.fail else 204
            with open(options.record, "a") as record:
                record.write(json.dumps({
                    "path": self.path, "delivery": self.headers.get("EasyJobs-Delivery"), "valid": hmac.compare_digest(expected, signature.get("v1", "")),
                    "age": time.time() - float(signature.get("t", "0")), "body": json.loads(body), "answered": status,
                }) + "\n")
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Timer(options.seconds, server.shutdown).start()
print("listening on", server.server_address[1], flush=True)
server.serve_forever()

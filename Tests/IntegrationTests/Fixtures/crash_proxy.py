"""A pass-through HTTP proxy to an EC2 endpoint that SIGKILLs a process right after the endpoint has
answered the first RunInstances call, before the answer is relayed: the caller dies between the cloud
creating an instance and learning its id.

Usage: crash_proxy.py PORT_FILE UPSTREAM_URL PID_FILE
Writes the port it listens on to PORT_FILE; kills the pid read from PID_FILE at that moment."""
import http.server
import os
import signal
import sys
import threading
import urllib.error
import urllib.request

port_file, upstream, pid_file = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
fired = threading.Event()


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = urllib.request.Request(upstream + self.path, data=body, method="POST")
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        if b"Action=RunInstances" in body and not fired.is_set():
            fired.set()
            with open(pid_file) as handle:
                os.kill(int(handle.read().strip()), signal.SIGKILL)
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(port_file + ".tmp", "w") as handle:
    handle.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()

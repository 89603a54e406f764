"""A stand-in for Google's OAuth token endpoint and the GCS listing, for the service account test.

It makes two RSA keys and writes two service account key files into DIR: good.json (the key it trusts) and
foreign.json (same account, another key). POST /token verifies the RS256 JWT assertion and answers an access
token; GET /storage/v1/b/BUCKET/o answers one object to that token only; GET /stats counts the grants.
Its port goes into DIR/port once the files are written.
"""
import base64
import json
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

directory = sys.argv[1]
EMAIL = "allot-sync@example-project.iam.gserviceaccount.com"
TOKEN = "ya29.allot-test"
trusted = rsa.generate_private_key(public_exponent=65537, key_size=2048)
foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
grants = 0


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global grants
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self.answer(400, {"error": "unsupported_grant_type"})
        try:
            header, claims, signature = form["assertion"][0].split(".")
            trusted.public_key().verify(b64decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except (KeyError, ValueError, InvalidSignature):
            return self.answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        body = json.loads(b64decode(claims))
        port = self.server.server_address[1]
        if json.loads(b64decode(header)).get("alg") != "RS256" or body.get("iss") != EMAIL:
            return self.answer(400, {"error": "invalid_grant", "error_description": "wrong algorithm or issuer"})
        if body.get("aud") != f"http://127.0.0.1:{port}/token" or "devstorage" not in body.get("scope", ""):
            return self.answer(400, {"error": "invalid_grant", "error_description": "wrong audience or scope"})
        if not body["iat"] - 300 <= time.time() <= body["exp"]:
            return self.answer(400, {"error": "invalid_grant", "error_description": "expired"})
        grants += 1
        self.answer(200, {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def do_GET(self):
        if self.path == "/stats":
            return self.answer(200, {"grants": grants})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, {"error": {"code": 401, "message": "Invalid Credentials"}})
        if self.path.startswith("/storage/v1/b/lake/o"):
            md5 = base64.b64encode(bytes.fromhex("900150983cd24fb0d6963f7d28e17f72")).decode()
            return self.answer(200, {"kind": "storage#objects", "items": [{"name": "abc.txt", "size": "3", "md5Hash": md5}]})
        self.answer(404, {"error": {"code": 404, "message": "Not Found"}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
for name, key in (("good", trusted), ("foreign", foreign)):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    document = {"type": "service_account", "project_id": "example-project", "private_key_id": name, "private_key": pem,
                "client_email": EMAIL, "token_uri": f"http://127.0.0.1:{port}/token"}
    with open(f"{directory}/{name}.json", "w") as handle:
        json.dump(document, handle)
with open(f"{directory}/port.tmp", "w") as handle:
    handle.write(str(port))
import os

os.rename(f"{directory}/port.tmp", f"{directory}/port")
server.serve_forever()

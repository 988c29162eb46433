"""A loopback HTTP server that answers OCSP requests and serves a CRL, for the matrix."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp


class RevocationServer:
    """``POST /ocsp`` answers from ``ocsp_answers`` (serial → DER response); ``GET /crl``
    serves ``crl``. Unknown serials get an ``unauthorized`` OCSP status."""

    def __init__(self) -> None:
        self.ocsp_answers: dict[int, bytes] = {}
        self.crl = b""
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass  # keep test output quiet

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                serial = ocsp.load_der_ocsp_request(body).serial_number
                unknown = ocsp.OCSPResponseBuilder.build_unsuccessful(
                    ocsp.OCSPResponseStatus.UNAUTHORIZED
                ).public_bytes(Encoding.DER)
                answer = owner.ocsp_answers.get(serial) or unknown
                self._send(answer, "application/ocsp-response")

            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                self._send(owner.crl, "application/pkix-crl")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def ocsp_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ocsp"

    @property
    def crl_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/crl"

    def start(self) -> RevocationServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

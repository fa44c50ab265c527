"""The FHIR Bundle POSTed to a FHIR server (FHIR_SERVER_URL) when a series is finished: a real HTTP
server on loopback, started here, receives it; failures are retried, logged and audited, and the
series keeps its result."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fhir.resources.R4B.bundle import Bundle

from audit.models import AuditEvent
from scans.models import Series
from scans.studies import fhir
from tests.api.conftest import token_client
from tests.studies.conftest import free_port
from tests.studies.series import SECRETS, leaked, stow_series

pytestmark = pytest.mark.django_db


class FhirServer:
    """Answers each POST with the next of `answers` (then 201), keeping what it was sent."""

    def __init__(self, answers=()):
        self.answers, self.received = list(answers), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.received.append((self.path, self.headers["Content-Type"], body))
                code = server.answers.pop(0) if server.answers else 201
                self.send_response(code)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                self.wfile.write(b'{"resourceType": "Bundle", "type": "transaction-response"}')

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/fhir"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def fhir_server(settings):
    servers = []

    def start(answers=()):
        server = FhirServer(answers)
        servers.append(server)
        settings.FHIR_SERVER_URL = server.url
        return server

    yield start
    for server in servers:
        server.close()


def sends(series, text: str) -> int:
    return AuditEvent.objects.filter(action=AuditEvent.SENT, object_type="series", object_id=str(series.pk),
                                     detail__contains=text).count()


def test_a_finished_series_posts_a_valid_bundle_without_phi_to_the_fhir_server(fhir_server, owner):
    server = fhir_server()
    series = stow_series(token_client(owner), "glioma", 4)
    [(path, content_type, body)] = server.received
    assert path == "/fhir" and content_type == "application/fhir+json"
    data = json.loads(body)
    bundle = Bundle.model_validate(data)
    assert bundle.type == "transaction" and fhir.problems(data) == []
    assert any(e.resource.__resource_type__ == "DiagnosticReport" for e in bundle.entry)
    #  The original Study UID is there on purpose (the record files it under the study); nothing else planted.
    assert set(leaked(body)) <= {"study_uid"} and SECRETS["study_uid"] in body.decode()
    assert sends(series, "FHIR bundle sent to") == 1 and series.status == Series.DONE


def test_a_fhir_server_error_is_retried_and_then_succeeds(fhir_server, owner, settings):
    settings.FHIR_SEND_ATTEMPTS = 3
    server = fhir_server(answers=[503])
    series = stow_series(token_client(owner), "glioma", 3)
    assert len(server.received) == 2 and server.received[0][2] == server.received[1][2]
    assert sends(series, "FAILED (try 1): HTTP 503") == 1 and sends(series, "FHIR bundle sent to") == 1
    assert "FHIR" not in Series.objects.get(pk=series.pk).send_error


def test_an_unreachable_fhir_server_is_logged_and_the_series_keeps_its_result(settings, owner, caplog):
    settings.FHIR_SERVER_URL = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens there
    settings.FHIR_SEND_ATTEMPTS = 2
    series = Series.objects.get(pk=stow_series(token_client(owner), "glioma", 3).pk)
    assert series.status == Series.DONE and series.label and series.sr
    assert series.send_error.startswith("FHIR: ")
    assert sends(series, "FAILED (try 2)") == 1 and sends(series, "FHIR bundle sent to") == 0
    assert "posting the FHIR bundle" in caplog.text


def test_a_bundle_the_fhir_server_refuses_is_not_sent_again(fhir_server, owner, settings):
    settings.FHIR_SEND_ATTEMPTS = 3
    server = fhir_server(answers=[422])
    series = stow_series(token_client(owner), "glioma", 3)
    assert len(server.received) == 1 and sends(series, "HTTP 422") == 1
    assert Series.objects.get(pk=series.pk).send_error == "FHIR: HTTP 422"

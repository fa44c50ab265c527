"""Associations NeuroLens opens as the requesting side: results sent to the PACS (outbound.py) and
the test suite's senders.

pynetdicom 3.0's association has a reactor thread that reads incoming DIMSE messages and serves
requests, and send_c_store() reads the same message queue for its response. send_c_store() pauses
the reactor first, but the flag it waits on can still be set from the reactor's previous turn: the
reactor then goes one more turn, takes the response off the queue, finds it is not a request, logs
"Received unexpected C-STORE service message" and drops it. send_c_store() waits out the whole DIMSE
timeout, aborts the association and returns an empty status: a store the peer accepted reads as
failed. It happens rarely, most on a loaded machine with a peer that answers at once (a CI run lost
the status of a refused instance this way). `associate` puts a response the reactor takes back
where send_c_store() is waiting for it."""

from __future__ import annotations

import socket

from pynetdicom import AE
from pynetdicom.association import Association


def associate(ae: AE, host: str, port: int, called: str) -> Association:
    """Open an association, with Nagle off (no ~40 ms stall per object on a small C-STORE) and
    responses the reactor takes kept for the request that waits on them."""
    assoc = ae.associate(host, port, ae_title=called)
    if assoc.is_established:
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        keep_responses(assoc)
    return assoc


def keep_responses(assoc: Association) -> None:
    serve = assoc._serve_request

    def serve_or_return(msg, context_id: int) -> None:
        if not msg.is_valid_request and msg.is_valid_response:
            assoc.dimse.msg_queue.put((context_id, msg))
            return
        serve(msg, context_id)

    assoc._serve_request = serve_or_return

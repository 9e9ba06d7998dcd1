"""A shared text document edited concurrently, through operational transformation.

Clients edit their own copy at once and exchange operations with the server,
which orders them into revisions; `transform` reconciles concurrent edits so
that every copy converges on the same text. Each document is one supervised
process, the single writer of its journal (the edit log), rebuilt from that
journal when it restarts; who is connected, where their cursors are and who
went idle lives in an atom, with idle timers on the clock; edits are
submitted as effects with retries and the session's ids in their context.
Clients connect over WebSockets.

Run it for a few seconds on the real clock with
``python -m examples.realtime_collaboration``; its tests
(``pytest examples/realtime_collaboration``) drive the same code on virtual
time, in memory and over real loopback connections.
"""

from examples.realtime_collaboration._client import (
    ClientDocument,
    ProtocolError,
    Submission,
)
from examples.realtime_collaboration._document import (
    Applied,
    Crash,
    DocumentContext,
    DocumentSnapshot,
    GetSnapshot,
    SimulatedCrash,
    Submit,
    document_spec,
)
from examples.realtime_collaboration._operation import (
    Component,
    Operation,
    OperationError,
    transform,
    transform_index,
)
from examples.realtime_collaboration._presence import (
    AtomFactory,
    Participant,
    Presence,
    Status,
)
from examples.realtime_collaboration._server import (
    EditRecord,
    EditRejected,
    RejectionReason,
    ServerDocument,
)
from examples.realtime_collaboration._service import (
    DEFAULT_RETRY,
    CollaborationService,
    Document,
    Session,
    SupervisorLike,
)
from examples.realtime_collaboration._websocket import (
    CollaborationClient,
    CollaborationServer,
)

__all__ = [
    "DEFAULT_RETRY",
    "Applied",
    "AtomFactory",
    "ClientDocument",
    "CollaborationClient",
    "CollaborationServer",
    "CollaborationService",
    "Component",
    "Crash",
    "Document",
    "DocumentContext",
    "DocumentSnapshot",
    "EditRecord",
    "EditRejected",
    "GetSnapshot",
    "Operation",
    "OperationError",
    "Participant",
    "Presence",
    "ProtocolError",
    "RejectionReason",
    "ServerDocument",
    "Session",
    "SimulatedCrash",
    "Status",
    "Submission",
    "Submit",
    "SupervisorLike",
    "document_spec",
    "transform",
    "transform_index",
]

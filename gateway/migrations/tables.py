"""Every table of the gateway on one metadata, for Alembic and the schema test: ``db.models`` holds the shared tables
and ``Base``; each domain keeps its tables in its own ``models`` module, registered on ``Base`` when imported. They are
gathered here, above the domains, so ``db`` imports none of them (a table missing here shows as a difference from the
migrated schema in tests/gateway/db/test_migrations.py)."""

from __future__ import annotations

from gateway.auth import models as _auth_models  # noqa: F401
from gateway.custody import models as _custody_models  # noqa: F401
from gateway.db.models import Base
from gateway.events import models as _events_models  # noqa: F401
from gateway.indexer import models as _indexer_models  # noqa: F401
from gateway.leases import models as _lease_models  # noqa: F401
from gateway.matching import models as _matching_models  # noqa: F401
from gateway.members import models as _members_models  # noqa: F401
from gateway.operator import models as _operator_models  # noqa: F401
from gateway.redemptions import models as _redemption_models  # noqa: F401
from gateway.risk import cure_models as _risk_cure_models  # noqa: F401
from gateway.risk import history as _risk_history  # noqa: F401
from gateway.risk import messages as _risk_messages  # noqa: F401
from gateway.risk import models as _risk_models  # noqa: F401
from gateway.risk.feeds import models as _risk_feed_models  # noqa: F401
from gateway.settlement_records import models as _settlement_models  # noqa: F401
from gateway.surveillance import case_models as _surveillance_case_models  # noqa: F401
from gateway.trading import models as _trading_models  # noqa: F401

metadata = Base.metadata

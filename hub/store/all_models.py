"""Imports every module that declares tables, so ``Base.metadata`` holds the whole schema (migrations, checks)."""

import hub.store.audit
import hub.store.booking_models
import hub.store.models
import hub.store.outbox
import hub.store.room_live_models  # noqa: F401  (imported for its tables)

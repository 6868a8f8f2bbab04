"""Imports every module that declares tables, so ``Base.metadata`` holds the whole schema (migrations, checks)."""

import hub.store.audit
import hub.store.auth_models
import hub.store.badge_models
import hub.store.booking_models
import hub.store.credential_models
import hub.store.energy_models
import hub.store.facilities_models
import hub.store.models
import hub.store.outbox
import hub.store.room_live_models
import hub.store.ticket_models
import hub.store.visit_models
import hub.store.webhook_models  # noqa: F401  (imported for its tables)

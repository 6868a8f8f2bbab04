"""visitors: people, visits, agreements, block list

Revision ID: 0006
Revises: 0005
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """People, visits, token redemptions, agreements and signatures, block list, photos, webhook deliveries."""
    op.create_table('people',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('team', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index('ix_people_email', ['email'], unique=False)

    op.create_table('visits',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('visitor_name', sa.String(length=120), nullable=False),
    sa.Column('visitor_email', sa.String(length=254), nullable=True),
    sa.Column('company', sa.String(length=120), nullable=True),
    sa.Column('host_id', sa.String(length=64), nullable=False),
    sa.Column('visitor_type', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=True),
    sa.Column('walk_in', sa.Boolean(), nullable=False),
    sa.Column('starts_at', Time, nullable=False),
    sa.Column('ends_at', Time, nullable=False),
    sa.Column('invitation_nonce', sa.String(length=24), nullable=True),
    sa.Column('checkout_nonce', sa.String(length=24), nullable=True),
    sa.Column('arrived_at', Time, nullable=True),
    sa.Column('checked_in_at', Time, nullable=True),
    sa.Column('checked_out_at', Time, nullable=True),
    sa.Column('kiosk_id', sa.String(length=64), nullable=True),
    sa.Column('held_reason', sa.String(length=200), nullable=True),
    sa.Column('approved_at', Time, nullable=True),
    sa.Column('overstay_notified_at', Time, nullable=True),
    sa.Column('purged_at', Time, nullable=True),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('updated_at', Time, nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name='ck_visits_ends_after_start'),
    sa.ForeignKeyConstraint(['host_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_status_starts', ['status', 'starts_at'], unique=False)
        batch_op.create_index('ix_visits_visitor_email', ['visitor_email'], unique=False)
        batch_op.create_index('ix_visits_host_id', ['host_id'], unique=False)
        batch_op.create_index('ix_visits_purged_at', ['purged_at'], unique=False)

    op.create_table('visit_redemptions',
    sa.Column('nonce', sa.String(length=24), nullable=False),
    sa.Column('visit_id', BigId, nullable=False),
    sa.Column('use', sa.String(length=16), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=True),
    sa.Column('redeemed_at', Time, nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ),
    sa.PrimaryKeyConstraint('nonce')
    )
    with op.batch_alter_table('visit_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_visit_redemptions_visit_id', ['visit_id'], unique=False)

    op.create_table('agreements',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('visitor_type', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', Time, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('visitor_type', 'version', name='uq_agreements_type_version')
    )

    op.create_table('agreement_signatures',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('visit_id', BigId, nullable=False),
    sa.Column('agreement_id', BigId, nullable=False),
    sa.Column('agreement_hash', sa.String(length=64), nullable=False),
    sa.Column('signed_name', sa.String(length=120), nullable=False),
    sa.Column('signed_at', Time, nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agreement_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_signatures_visit_id', ['visit_id'], unique=False)

    op.create_table('visitor_blocklist',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('company', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )

    op.create_table('visit_photos',
    sa.Column('visit_id', BigId, nullable=False),
    sa.Column('jpeg', sa.LargeBinary(), nullable=False),
    sa.Column('taken_at', Time, nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ),
    sa.PrimaryKeyConstraint('visit_id')
    )
    with op.batch_alter_table('visit_photos', schema=None) as batch_op:
        batch_op.create_index('ix_visit_photos_taken_at', ['taken_at'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', Time, nullable=False),
    sa.Column('delivered_at', Time, nullable=True),
    sa.Column('failed_at', Time, nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['delivered_at', 'failed_at', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('visit_photos')
    op.drop_table('visitor_blocklist')
    op.drop_table('agreement_signatures')
    op.drop_table('agreements')
    op.drop_table('visit_redemptions')
    op.drop_table('visits')
    op.drop_table('people')

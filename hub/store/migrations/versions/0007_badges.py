"""badge print jobs

Revision ID: 0007
Revises: 0006
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Badge print jobs (hub/store/badge_models.py)."""
    op.create_table('print_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('visit_id', sa.BigInteger(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('printer_id', sa.String(length=64), nullable=True),
    sa.Column('tried', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failovers', sa.Integer(), nullable=False),
    sa.Column('zpl', sa.Text(), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_jobs_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('ix_print_jobs_status_sent_at', ['status', 'sent_at'], unique=False)


def downgrade() -> None:
    """Drop badge print jobs."""
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_print_jobs_status_sent_at')
        batch_op.drop_index(batch_op.f('ix_print_jobs_visit_id'))

    op.drop_table('print_jobs')

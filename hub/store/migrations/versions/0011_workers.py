"""hub workers: leases and sharded counters

Revision ID: 0011
Revises: 0010
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Ingest counters get one row per worker: the key becomes (name, worker); existing totals go to ''."""
    op.create_table(
        'ingest_counters_by_worker',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('worker', sa.String(length=64), server_default='', nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', 'worker'),
    )
    op.execute("INSERT INTO ingest_counters_by_worker (name, worker, count) SELECT name, '', count FROM ingest_counters")
    op.drop_table('ingest_counters')
    op.rename_table('ingest_counters_by_worker', 'ingest_counters')

def downgrade() -> None:
    """Back to one row per counter: the workers' rows are summed first."""
    op.create_table(
        'ingest_counters_summed',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.execute(
        'INSERT INTO ingest_counters_summed (name, count) SELECT name, SUM(count) FROM ingest_counters GROUP BY name'
    )
    op.drop_table('ingest_counters')
    op.rename_table('ingest_counters_summed', 'ingest_counters')

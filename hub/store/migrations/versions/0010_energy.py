"""energy rollups

Revision ID: 0010
Revises: 0009
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Energy readings (pending until rolled up), per-meter lock rows, hourly buckets."""
    op.create_table(
        'energy_readings',
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('energy_kwh', sa.Float(), nullable=False),
        sa.Column('rolled_up', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id']),
        sa.PrimaryKeyConstraint('device_id', 'seq'),
    )
    op.create_index('ix_energy_readings_device_read_at', 'energy_readings', ['device_id', 'read_at'])
    op.create_index('ix_energy_readings_pending', 'energy_readings', ['rolled_up', 'device_id'])
    op.create_table(
        'energy_meters',
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('rolled_up_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id']),
        sa.PrimaryKeyConstraint('device_id'),
    )
    op.create_table(
        'energy_hourly',
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('room_id', sa.String(length=64), nullable=True),
        sa.Column('kwh', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id']),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id']),
        sa.PrimaryKeyConstraint('device_id', 'hour_start'),
    )
    op.create_index('ix_energy_hourly_hour_room', 'energy_hourly', ['hour_start', 'room_id'])


def downgrade() -> None:
    op.drop_index('ix_energy_hourly_hour_room', table_name='energy_hourly')
    op.drop_table('energy_hourly')
    op.drop_table('energy_meters')
    op.drop_index('ix_energy_readings_pending', table_name='energy_readings')
    op.drop_index('ix_energy_readings_device_read_at', table_name='energy_readings')
    op.drop_table('energy_readings')

"""preventive maintenance, safety incidents, cleaning

Revision ID: 0009
Revises: 0008
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Safety incidents and their timelines, rooms' cleaning counters, preventive schedules."""
    op.create_table(
        'safety_incidents',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('hazard', sa.String(length=16), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('room_id', sa.String(length=64), nullable=True),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('open_key', sa.String(length=160), nullable=True),
        sa.Column('alarming', sa.JSON(), nullable=False),
        sa.Column('alarms', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_alarm_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_by', sa.String(length=120), nullable=True),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('open_key', name='uq_safety_incidents_open_key'),
    )
    with op.batch_alter_table('safety_incidents', schema=None) as batch_op:
        batch_op.create_index('ix_safety_incidents_status_opened', ['status', 'opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_safety_incidents_room_id'), ['room_id'], unique=False)

    op.create_table(
        'safety_incident_entries',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('incident_id', BIG_ID, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('what', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['safety_incidents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('safety_incident_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_incident_entries_incident_id'), ['incident_id'], unique=False)

    op.create_table(
        'room_cleaning',
        sa.Column('room_id', sa.String(length=64), nullable=False),
        sa.Column('counting_since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cleaned_by', sa.String(length=120), nullable=True),
        sa.Column('occupied_s', sa.Double(), nullable=False),
        sa.Column('reading_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('occupied', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id']),
        sa.PrimaryKeyConstraint('room_id'),
    )

    op.create_table(
        'preventive_schedules',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('asset_id', sa.String(length=160), nullable=False),
        sa.Column('task', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('every', sa.Double(), nullable=False),
        sa.Column('lead_days', sa.Double(), nullable=True),
        sa.Column('lead_pct', sa.Double(), nullable=True),
        sa.Column('meter_device_id', sa.String(length=64), nullable=True),
        sa.Column('running_above_w', sa.Double(), nullable=True),
        sa.Column('meter', sa.Double(), nullable=False),
        sa.Column('meter_raw', sa.Double(), nullable=True),
        sa.Column('meter_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('meter_running', sa.Boolean(), nullable=False),
        sa.Column('last_done_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_done_meter', sa.Double(), nullable=False),
        sa.Column('opened_for', sa.Double(), nullable=True),
        sa.Column('last_ticket_id', sa.BigInteger(), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('asset_id', 'task', name='uq_preventive_schedules_asset_task'),
    )
    with op.batch_alter_table('preventive_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preventive_schedules_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_preventive_schedules_meter_device_id'), ['meter_device_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('preventive_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preventive_schedules_meter_device_id'))
        batch_op.drop_index(batch_op.f('ix_preventive_schedules_asset_id'))
    op.drop_table('preventive_schedules')
    op.drop_table('room_cleaning')
    with op.batch_alter_table('safety_incident_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_incident_entries_incident_id'))
    op.drop_table('safety_incident_entries')
    with op.batch_alter_table('safety_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_incidents_room_id'))
        batch_op.drop_index('ix_safety_incidents_status_opened')
    op.drop_table('safety_incidents')

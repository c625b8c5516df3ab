"""remarks: what the mayor said (말씀), searchable, linked to the schedule and the directives it produced

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('remarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('speaker', sa.String(length=100), nullable=False),
    sa.Column('said_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occasion', sa.String(length=200), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('schedule_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule_entry_id'], ['schedule_events.id'], ),
    sa.ForeignKeyConstraint(['speaker'], ['users.username'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('remarks', schema=None) as batch_op:
        batch_op.create_index('ix_remarks_speaker_said', ['speaker', 'said_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('remarks', schema=None) as batch_op:
        batch_op.drop_index('ix_remarks_speaker_said')
    op.drop_table('remarks')

"""a task's priority and follow-up date, as Camunda's camunda:priority and camunda:followUpDate give them

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29

Tasks already open when this runs have the default priority (50) and no follow-up date until their
case takes its next step, when the index is written again from the BPMN.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='50', nullable=False))
        batch_op.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_column('follow_up_at')
        batch_op.drop_column('priority')

"""standing tasks: an option a case offers while it runs (the drafter's 회수), not a to-do

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

A user task whose BPMN says ``standing = true`` is offered on its case's page as an action and left
out of inboxes. Tasks already open when this runs keep showing in inboxes until their case takes its
next step, when the index is written again from the BPMN.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_column('standing')

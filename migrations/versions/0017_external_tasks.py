"""external tasks: jobs done by systems outside cityflow, fetched and locked by topic

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('worker_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retries', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('error_details', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_topic'), ['topic'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_topic'))
        batch_op.drop_column('error_details')
        batch_op.drop_column('retries')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('worker_id')
        batch_op.drop_column('topic')

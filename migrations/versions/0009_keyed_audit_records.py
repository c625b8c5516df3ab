"""keyed audit records: each record names the audit key its link is keyed with; checkpoints name theirs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Records already written keep verifying under the rule they were written with: key 0, a plain
sha256 (`cityflow audit verify` counts them as legacy records). Checkpoints already written were
signed with the audit key of the time, which is key 1 from now on; they carry no summary.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('summary')
        batch_op.drop_column('key_id')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_column('key_id')

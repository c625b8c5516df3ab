"""audit search indexes: the auditor's search by days and by process counts through an index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28

Counting the records of a month, or of one process, among millions read the whole table (seconds
at a million records); with these indexes it reads only the matching ones. A process's records are
kept in id order, so its newest page is read straight from the index too.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_records_process', ['process_key', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_process')
        batch_op.drop_index('ix_audit_records_at')

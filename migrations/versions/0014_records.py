"""records: finished 전자결재 documents kept as records (기록물 등록대장), disposed of by their own process

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('retention', sa.String(length=10), nullable=False),
    sa.Column('disclosure', sa.String(length=10), nullable=False),
    sa.Column('disclosure_ground', sa.String(length=10), nullable=False),
    sa.Column('produced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('retain_until', sa.String(length=10), nullable=True),
    sa.Column('drafter', sa.String(length=100), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=False),
    sa.Column('content', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disposal_case', sa.String(length=36), nullable=True),
    sa.Column('disposal_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_id')
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_department_year', ['department', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_records_document_number'), ['document_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_records_unit'), ['unit'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_records_unit'))
        batch_op.drop_index(batch_op.f('ix_records_document_number'))
        batch_op.drop_index('ix_records_department_year')
    op.drop_table('records')

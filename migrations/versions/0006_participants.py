"""participants: who takes part in an instance, and so may read it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'participants',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('relation', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'kind', 'name'),
    )
    op.create_index('ix_participants_lookup', 'participants', ['kind', 'name', 'instance_id'], unique=False)
    # Instances that exist already: their initiators, and everyone their trail shows acting or offered.
    op.execute(
        "INSERT INTO participants (instance_id, kind, name, relation) "
        "SELECT id, 'user', initiator, 'initiator' FROM instances WHERE initiator IS NOT NULL"
    )
    op.execute(
        "INSERT INTO participants (instance_id, kind, name, relation) "
        "SELECT DISTINCT c.instance_id, k.kind, k.name, 'candidate' FROM open_task_candidates k "
        "JOIN open_tasks c ON c.id = k.task_id WHERE NOT EXISTS (SELECT 1 FROM participants p "
        "WHERE p.instance_id = c.instance_id AND p.kind = k.kind AND p.name = k.name)"
    )
    op.execute(
        "INSERT INTO participants (instance_id, kind, name, relation) "
        "SELECT DISTINCT chain, 'user', actor, 'actor' FROM audit_records r "
        "WHERE action IN ('task.completed', 'task.claimed', 'task.delegated', 'comment.added') "
        "AND actor NOT LIKE 'system:%' AND chain IN (SELECT id FROM instances) "
        "AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.instance_id = r.chain AND p.kind = 'user' "
        "AND p.name = r.actor)"
    )


def downgrade() -> None:
    op.drop_index('ix_participants_lookup', table_name='participants')
    op.drop_table('participants')

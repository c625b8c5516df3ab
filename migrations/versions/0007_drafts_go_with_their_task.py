"""drafts go with their open task

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Drafts of tasks that are no longer open were left behind before; nobody can see them.
    op.execute("DELETE FROM task_drafts WHERE task_id NOT IN (SELECT id FROM open_tasks)")
    with op.batch_alter_table('task_drafts', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_task_drafts_task_id_open_tasks', 'open_tasks', ['task_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('task_drafts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_task_drafts_task_id_open_tasks', type_='foreignkey')

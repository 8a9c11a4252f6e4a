"""per-recipient results, partial status, attempts per manual retry round

Revision ID: b7d41e0c9a12
Revises: 88f312d5fc22
Create Date: 2026-11-23 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.records import search


# revision identifiers, used by Alembic.
revision = 'b7d41e0c9a12'
down_revision = '88f312d5fc22'
branch_labels = None
depends_on = None

OLD = "status IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'unknown')"
NEW = ("status IN ('queued', 'sending', 'retrying', 'sent', 'partial', 'failed', "
       "'unknown')")


def _rebuild(add: bool, check: str) -> None:
    """SQLite rebuilds the table to change a CHECK constraint, which drops the recipient
    search triggers and the expression index on template names (batch mode cannot
    reflect it), so both are made again afterwards."""
    op.execute("DROP INDEX IF EXISTS ix_messages_template_created")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        if add:
            batch_op.add_column(sa.Column('attempts_base', sa.Integer(), server_default='0',
                                          nullable=False))
            batch_op.add_column(sa.Column('recipient_results', sa.JSON(), nullable=True))
        else:
            batch_op.drop_column('recipient_results')
            batch_op.drop_column('attempts_base')
        batch_op.drop_constraint(op.f('ck_messages_status'), type_='check')
        batch_op.create_check_constraint('status', check)
    op.create_index("ix_messages_template_created", "messages",
                    [sa.text("lower(template_name)"), "created_at"], unique=False)
    search.install(op.get_bind())


def upgrade():
    _rebuild(True, NEW)


def downgrade():
    op.execute("UPDATE messages SET status = 'sent' WHERE status = 'partial'")
    _rebuild(False, OLD)

"""scheduled and cancelled messages, token callback URLs, and the callbacks outbox

Revision ID: d4e6f8a0b2c4
Revises: a1b3c5d7e9f1
Create Date: 2026-12-01 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_rebuild import keeping_references
from portal.dbtypes import UTCDateTime
from portal.records import search


# revision identifiers, used by Alembic.
revision = 'd4e6f8a0b2c4'
down_revision = 'a1b3c5d7e9f1'
branch_labels = None
depends_on = None

OLD = ("status IN ('queued', 'sending', 'retrying', 'sent', 'partial', 'failed', "
       "'unknown')")
NEW = ("status IN ('queued', 'scheduled', 'sending', 'retrying', 'sent', 'partial', "
       "'failed', 'unknown', 'cancelled')")
TOKEN_COLUMNS = (
    ('callback_url', sa.String(length=2000)),
    ('callback_secret_encrypted', sa.String(length=500)),
    ('callback_last_at', UTCDateTime(timezone=True)),
    ('callback_last_status', sa.Integer()),
    ('callback_last_error', sa.String(length=300)),
)


def _status_check(check: str) -> None:
    """SQLite rebuilds the table to change a CHECK constraint, which drops the recipient
    search triggers and the expression index on template names, so both are made again;
    the rows that refer to messages (attempts, callbacks) are kept through the rebuild."""
    op.execute("DROP INDEX IF EXISTS ix_messages_template_created")
    with keeping_references('messages'), \
            op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_status'), type_='check')
        batch_op.create_check_constraint('status', check)
    op.create_index("ix_messages_template_created", "messages",
                    [sa.text("lower(template_name)"), "created_at"], unique=False)
    search.install(op.get_bind())


def upgrade():
    _status_check(NEW)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        for name, kind in TOKEN_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        'callbacks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_pk', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=120), nullable=True),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')",
                           name='callback_state'),
        sa.ForeignKeyConstraint(['message_pk'], ['messages.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.create_index('ix_callbacks_message_pk', ['message_pk'])
        batch_op.create_index('ix_callbacks_token_id', ['token_id'])
        batch_op.create_index('ix_callbacks_state_next', ['state', 'next_attempt_at'])


def downgrade():
    op.drop_table('callbacks')
    with keeping_references('api_tokens'), \
            op.batch_alter_table('api_tokens', schema=None) as batch_op:
        for name, _kind in reversed(TOKEN_COLUMNS):
            batch_op.drop_column(name)
    op.execute("UPDATE messages SET status = 'queued' WHERE status = 'scheduled'")
    op.execute("UPDATE messages SET status = 'failed' WHERE status = 'cancelled'")
    _status_check(OLD)

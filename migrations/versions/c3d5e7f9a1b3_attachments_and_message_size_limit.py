"""attachments: the files of each message (for the records) and each sender's message limit

Revision ID: c3d5e7f9a1b3
Revises: b2c4d6e8f0a2
Create Date: 2026-12-01 05:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d5e7f9a1b3'
down_revision = 'b2c4d6e8f0a2'
branch_labels = None
depends_on = None


def upgrade():
    # The files themselves are in raw_message; this is the list the records show.
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=True))
    # NULL: the portal's default (PORTAL_MAX_MESSAGE_BYTES, 25 MB).
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_message_bytes', sa.Integer(), nullable=True))


def _drop_column(table: str, column: str) -> None:
    """Drop a column in place. On SQLite (3.35 and later can) this avoids batch mode's
    table rebuild, whose DROP TABLE would cascade into the rows that refer to the table
    (attempts of messages, messages' senders) and lose the search triggers."""
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column('senders', 'max_message_bytes')
    _drop_column('messages', 'attachments')

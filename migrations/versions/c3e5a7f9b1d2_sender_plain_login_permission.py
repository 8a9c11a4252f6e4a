"""sender: explicit permission to log in without encryption

Revision ID: c3e5a7f9b1d2
Revises: b7d41e0c9a12
Create Date: 2026-11-30 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e5a7f9b1d2'
down_revision = 'b7d41e0c9a12'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_plain_auth', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Senders that already log in without encryption keep working, and are now marked
    # as doing so in the sender list; new ones must opt in.
    op.execute("UPDATE senders SET allow_plain_auth = true "
                "WHERE encryption = 'none' AND password_encrypted IS NOT NULL")


def downgrade():
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.drop_column('allow_plain_auth')

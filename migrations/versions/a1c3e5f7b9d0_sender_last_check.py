"""sender: the outcome of its last connection check

Revision ID: a1c3e5f7b9d0
Revises: f9b1d3e5a7c8
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'a1c3e5f7b9d0'
down_revision = 'f9b1d3e5a7c8'
branch_labels = None
depends_on = None


def upgrade():
    # Existing senders start as "never tested": nothing is known about their last check.
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_check_ok', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('last_check_at', UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_check_reason', sa.String(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_check_reply', sa.String(length=300),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.drop_column('last_check_reply')
        batch_op.drop_column('last_check_reason')
        batch_op.drop_column('last_check_at')
        batch_op.drop_column('last_check_ok')

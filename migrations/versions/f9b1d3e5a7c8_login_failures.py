"""failed sign-ins counted in the database

Revision ID: f9b1d3e5a7c8
Revises: e7a9c1d3f5b6
Create Date: 2026-11-30 19:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'f9b1d3e5a7c8'
down_revision = 'e7a9c1d3f5b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('address', 'username', 'at'):
        op.create_index(f'ix_login_failures_{column}', 'login_failures', [column])


def downgrade():
    op.drop_table('login_failures')

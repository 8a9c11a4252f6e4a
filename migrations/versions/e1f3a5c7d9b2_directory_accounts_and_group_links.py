"""directory sign-in: where an account comes from, and directory groups linked to teams

Revision ID: e1f3a5c7d9b2
Revises: c8e0a2b4d6f1
Create Date: 2026-12-01 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'e1f3a5c7d9b2'
down_revision = 'c8e0a2b4d6f1'
branch_labels = None
depends_on = None


def upgrade():
    # Every existing account is a local one.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False,
                                      server_default='local'))
        batch_op.add_column(sa.Column('directory_dn', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('directory_checked_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_users_directory_dn', ['directory_dn'])
    op.create_table(
        'team_group_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('group_dn', sa.String(length=512), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'agent')", name='group_link_role'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('team_id', 'group_dn'),
    )
    with op.batch_alter_table('team_group_links', schema=None) as batch_op:
        batch_op.create_index('ix_team_group_links_team_id', ['team_id'])


def downgrade():
    op.drop_table('team_group_links')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_directory_dn')
        batch_op.drop_column('directory_checked_at')
        batch_op.drop_column('directory_dn')
        batch_op.drop_column('source')

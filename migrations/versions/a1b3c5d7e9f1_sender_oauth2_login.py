"""sender: OAuth2 (XOAUTH2) login with client credentials or a connected account

Revision ID: a1b3c5d7e9f1
Revises: c3d5e7f9a1b3
Create Date: 2026-12-01 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_rebuild import keeping_references
from portal.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'a1b3c5d7e9f1'
down_revision = 'c3d5e7f9a1b3'
branch_labels = None
depends_on = None


def upgrade():
    # Every existing sender logs in with a password (or not at all).
    # The CHECK constraint makes SQLite rebuild senders: the messages' senders, the
    # usage rows and the fallback links are kept (see migrations/sqlite_rebuild.py).
    with keeping_references('senders'), \
            op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_method', sa.String(length=10), nullable=False,
                                      server_default='password'))
        batch_op.add_column(sa.Column('oauth_provider', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('oauth_flow', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('oauth_tenant', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('oauth_client_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('oauth_client_secret_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('oauth_token_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('oauth_authorize_url', sa.String(length=500),
                                      nullable=True))
        batch_op.add_column(sa.Column('oauth_scope', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('oauth_refresh_token_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('oauth_account', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('oauth_connected_at', UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(op.f('ck_senders_auth_method'),
                                         "auth_method IN ('password', 'oauth2')")


def downgrade():
    with keeping_references('senders'), \
            op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_senders_auth_method'), type_='check')
        for column in ('oauth_connected_at', 'oauth_account', 'oauth_refresh_token_encrypted',
                       'oauth_scope', 'oauth_authorize_url', 'oauth_token_url',
                       'oauth_client_secret_encrypted', 'oauth_client_id', 'oauth_tenant',
                       'oauth_flow', 'oauth_provider', 'auth_method'):
            batch_op.drop_column(column)

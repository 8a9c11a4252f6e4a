"""messages: fingerprint of the request behind an idempotency key

Revision ID: e7a9c1d3f5b6
Revises: d4f6b8a0c2e3
Create Date: 2026-11-30 19:35:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a9c1d3f5b6'
down_revision = 'd4f6b8a0c2e3'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns in place), so the
# messages table is not rebuilt and keeps its search triggers and expression index.
def upgrade():
    op.add_column('messages', sa.Column('idempotency_fingerprint', sa.String(length=64),
                                        nullable=True))


def downgrade():
    op.drop_column('messages', 'idempotency_fingerprint')

"""senders: quotas, the provider's own pause and a fallback sender; messages: sender note

Revision ID: b2c4d6e8f0a2
Revises: e1f3a5c7d9b2
Create Date: 2026-12-01 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b2c4d6e8f0a2'
down_revision = 'e1f3a5c7d9b2'
branch_labels = None
depends_on = None


def upgrade():
    # Existing senders keep no quota and no fallback: they send exactly as before.
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('daily_recipient_quota', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_recipients_per_message', sa.Integer(),
                                      nullable=True))
        batch_op.add_column(sa.Column('fallback_sender_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('provider_paused_until', UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('provider_pause_reason', sa.String(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column('provider_pause_reply', sa.String(length=300),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_senders_fallback_sender_id_senders'),
                                    'senders', ['fallback_sender_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_check_constraint(
            'fallback_not_self', 'fallback_sender_id IS NULL OR fallback_sender_id <> id')
    op.create_table(
        'sender_usage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sender_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['sender_id'], ['senders.id'],
                                name=op.f('fk_sender_usage_sender_id_senders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sender_usage')),
    )
    with op.batch_alter_table('sender_usage', schema=None) as batch_op:
        batch_op.create_index('ix_sender_usage_sender_at', ['sender_id', 'at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('sender_note')
    with op.batch_alter_table('sender_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_sender_usage_sender_at')
    op.drop_table('sender_usage')
    with op.batch_alter_table('senders', schema=None) as batch_op:
        batch_op.drop_constraint('fallback_not_self', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_senders_fallback_sender_id_senders'),
                                 type_='foreignkey')
        batch_op.drop_column('provider_pause_reply')
        batch_op.drop_column('provider_pause_reason')
        batch_op.drop_column('provider_paused_until')
        batch_op.drop_column('fallback_sender_id')
        batch_op.drop_column('max_recipients_per_message')
        batch_op.drop_column('daily_recipient_quota')

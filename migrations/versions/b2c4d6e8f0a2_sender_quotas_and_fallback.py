"""senders: quotas, the provider's own pause and a fallback sender; messages: sender note

Revision ID: b2c4d6e8f0a2
Revises: e1f3a5c7d9b2
Create Date: 2026-12-01 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_rebuild import keeping_references
from portal.dbtypes import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b2c4d6e8f0a2'
down_revision = 'e1f3a5c7d9b2'
branch_labels = None
depends_on = None


FALLBACK_FK = 'fk_senders_fallback_sender_id_senders'


def _add_fallback_column():
    if op.get_bind().dialect.name != 'sqlite':
        op.add_column('senders', sa.Column('fallback_sender_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FALLBACK_FK, 'senders', 'senders', ['fallback_sender_id'],
                              ['id'], ondelete='SET NULL')
        return
    # Rebuilding senders on SQLite would clear messages' sender_id (ON DELETE SET NULL).
    with keeping_references('senders'):
        with op.batch_alter_table('senders', schema=None, recreate='always') as batch_op:
            batch_op.add_column(sa.Column('fallback_sender_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(FALLBACK_FK, 'senders', ['fallback_sender_id'],
                                        ['id'], ondelete='SET NULL')


def upgrade():
    # Existing senders keep no quota and no fallback: they send exactly as before.
    op.add_column('senders', sa.Column('daily_recipient_quota', sa.Integer(), nullable=True))
    op.add_column('senders', sa.Column('max_recipients_per_message', sa.Integer(),
                                       nullable=True))
    op.add_column('senders', sa.Column('provider_paused_until', UTCDateTime(timezone=True),
                                       nullable=True))
    op.add_column('senders', sa.Column('provider_pause_reason', sa.String(length=40),
                                       nullable=True))
    op.add_column('senders', sa.Column('provider_pause_reply', sa.String(length=300),
                                       nullable=True))
    _add_fallback_column()
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
    # A plain ALTER TABLE on messages too: rebuilding it would drop its search triggers
    # and, through ON DELETE CASCADE, its attempts.
    op.add_column('messages', sa.Column('sender_note', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('messages', 'sender_note')  # SQLite 3.35+ drops a column in place
    with op.batch_alter_table('sender_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_sender_usage_sender_at')
    op.drop_table('sender_usage')
    _drop_fallback_column()
    # SQLite 3.35+ drops these columns in place.
    for column in ('provider_pause_reply', 'provider_pause_reason', 'provider_paused_until',
                   'max_recipients_per_message', 'daily_recipient_quota'):
        op.drop_column('senders', column)


def _drop_fallback_column():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(FALLBACK_FK, 'senders', type_='foreignkey')
        op.drop_column('senders', 'fallback_sender_id')
        return
    # Rebuilding senders on SQLite would clear messages' sender_id (ON DELETE SET NULL).
    with keeping_references('senders'):
        with op.batch_alter_table('senders', schema=None, recreate='always') as batch_op:
            batch_op.drop_constraint(FALLBACK_FK, type_='foreignkey')
            batch_op.drop_column('fallback_sender_id')

"""retention: outbound messages redacted once delivered; the chat to tell about a refused photo

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbound_message_redacted_at', ['redacted_at'], unique=False)
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_to', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('notify_to')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_message_redacted_at')
        batch_op.drop_column('redacted_at')

"""dengue: reminder subscriptions, reminder runs and deliveries, anonymous-report clean-up

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dengue_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_hash', sa.String(length=64), nullable=False),
        sa.Column('line_user_id', sa.String(length=40), nullable=False),
        sa.Column('village', sa.String(length=10), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_hash'),
    )
    with op.batch_alter_table('dengue_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dengue_subscription_village'), ['village'], unique=False)

    op.create_table(
        'dengue_reminder_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('village', sa.String(length=10), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('planned', sa.Integer(), nullable=False),
        sa.Column('skipped_blocked', sa.Integer(), nullable=False),
        sa.Column('skipped_budget', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name='fk_dengue_run_staff'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )

    op.create_table(
        'dengue_reminder_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('user_hash', sa.String(length=64), nullable=False),
        sa.Column('outbound_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['dengue_reminder_run.id'], name='fk_dengue_delivery_run'),
        sa.ForeignKeyConstraint(['outbound_id'], ['outbound_message.id'], name='fk_dengue_delivery_outbound'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'user_hash', name='uq_dengue_delivery_run_user'),
    )
    with op.batch_alter_table('dengue_reminder_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dengue_reminder_delivery_run_id'), ['run_id'], unique=False)

    op.create_table(
        'dengue_anon_cleanup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.String(length=40), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('photo_ids', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('dengue_anon_cleanup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dengue_anon_cleanup_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dengue_anon_cleanup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dengue_anon_cleanup_created_at'))
    op.drop_table('dengue_anon_cleanup')
    with op.batch_alter_table('dengue_reminder_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dengue_reminder_delivery_run_id'))
    op.drop_table('dengue_reminder_delivery')
    op.drop_table('dengue_reminder_run')
    with op.batch_alter_table('dengue_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dengue_subscription_village'))
    op.drop_table('dengue_subscription')

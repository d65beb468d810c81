"""disaster: village-chief codes and bindings, disaster mode periods, report facts, check-ins

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'chief_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('village', sa.String(length=10), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('term_end', sa.Date(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name='fk_chief_code_staff'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code_hash', name='uq_chief_code_hash'),
    )
    op.create_table(
        'chief_binding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('village', sa.String(length=10), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('user_hash', sa.String(length=64), nullable=False),
        sa.Column('line_user_id', sa.String(length=40), nullable=False),
        sa.Column('code_id', sa.Integer(), nullable=True),
        sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('term_end', sa.Date(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.Integer(), nullable=True),
        sa.Column('revoke_reason', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['code_id'], ['chief_code.id'], name='fk_chief_binding_code'),
        sa.ForeignKeyConstraint(['revoked_by'], ['staff.id'], name='fk_chief_binding_staff'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_chief_binding_village', 'chief_binding', ['village'])
    op.create_index('ix_chief_binding_user_hash', 'chief_binding', ['user_hash'])
    op.create_index('ix_chief_binding_line_user_id', 'chief_binding', ['line_user_id'])
    op.create_table(
        'chief_bind_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_chief_bind_failure_user_time', 'chief_bind_failure', ['user_hash', 'created_at'])
    op.create_table(
        'disaster_period',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by', sa.Integer(), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['started_by'], ['staff.id'], name='fk_disaster_period_starter'),
        sa.ForeignKeyConstraint(['ended_by'], ['staff.id'], name='fk_disaster_period_ender'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_disaster_period_started_at', 'disaster_period', ['started_at'])
    op.create_table(
        'disaster_report',
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('period_id', sa.Integer(), nullable=True),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('severity_rank', sa.Integer(), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('binding_id', sa.Integer(), nullable=True),
        sa.Column('reporter_village', sa.String(length=10), nullable=True),
        sa.Column('reporter_role', sa.String(length=10), nullable=True),
        sa.Column('on_behalf', sa.Boolean(), nullable=False),
        sa.Column('passable', sa.String(length=10), nullable=True),
        sa.Column('water_depth_cm', sa.Integer(), nullable=True),
        sa.Column('households', sa.Integer(), nullable=True),
        sa.Column('evacuation', sa.String(length=10), nullable=True),
        sa.Column('trapped', sa.Integer(), nullable=False),
        sa.Column('injured', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name='fk_disaster_report_submission'),
        sa.ForeignKeyConstraint(['period_id'], ['disaster_period.id'], name='fk_disaster_report_period'),
        sa.ForeignKeyConstraint(['binding_id'], ['chief_binding.id'], name='fk_disaster_report_binding'),
        sa.PrimaryKeyConstraint('submission_id'),
    )
    op.create_index('ix_disaster_report_period_id', 'disaster_report', ['period_id'])
    op.create_index('ix_disaster_report_severity', 'disaster_report', ['severity'])
    op.create_index('ix_disaster_report_verified', 'disaster_report', ['verified'])
    op.create_table(
        'chief_checkin',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('period_id', sa.Integer(), nullable=False),
        sa.Column('village', sa.String(length=10), nullable=False),
        sa.Column('binding_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=True),
        sa.Column('source_event_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['period_id'], ['disaster_period.id'], name='fk_chief_checkin_period'),
        sa.ForeignKeyConstraint(['binding_id'], ['chief_binding.id'], name='fk_chief_checkin_binding'),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name='fk_chief_checkin_submission'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source_event_id', name='uq_chief_checkin_source_event'),
    )
    op.create_index('ix_chief_checkin_period_id', 'chief_checkin', ['period_id'])
    op.create_index('ix_chief_checkin_period_village', 'chief_checkin', ['period_id', 'village', 'created_at'])
    op.create_table(
        'rich_menu_ref',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('rich_menu_id', sa.String(length=80), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('rich_menu_ref')
    op.drop_index('ix_chief_checkin_period_village', table_name='chief_checkin')
    op.drop_index('ix_chief_checkin_period_id', table_name='chief_checkin')
    op.drop_table('chief_checkin')
    op.drop_index('ix_disaster_report_verified', table_name='disaster_report')
    op.drop_index('ix_disaster_report_severity', table_name='disaster_report')
    op.drop_index('ix_disaster_report_period_id', table_name='disaster_report')
    op.drop_table('disaster_report')
    op.drop_index('ix_disaster_period_started_at', table_name='disaster_period')
    op.drop_table('disaster_period')
    op.drop_index('ix_chief_bind_failure_user_time', table_name='chief_bind_failure')
    op.drop_table('chief_bind_failure')
    op.drop_index('ix_chief_binding_line_user_id', table_name='chief_binding')
    op.drop_index('ix_chief_binding_user_hash', table_name='chief_binding')
    op.drop_index('ix_chief_binding_village', table_name='chief_binding')
    op.drop_table('chief_binding')
    op.drop_table('chief_code')

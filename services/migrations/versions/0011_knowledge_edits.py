"""knowledge edits: versions of FAQ entries written in the dashboard, and section reviewers

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'knowledge_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.String(length=60), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('restored_from', sa.Integer(), nullable=True),
        sa.Column('question_id', sa.Integer(), nullable=True),
        sa.Column('effect', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['author_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['reviewer_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_knowledge_version_entry_id', 'knowledge_version', ['entry_id'])
    op.create_index('ix_knowledge_version_status', 'knowledge_version', ['status'])
    op.create_table(
        'knowledge_reviewer',
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('section', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('staff_id', 'section'),
    )


def downgrade() -> None:
    op.drop_table('knowledge_reviewer')
    op.drop_index('ix_knowledge_version_status', table_name='knowledge_version')
    op.drop_index('ix_knowledge_version_entry_id', table_name='knowledge_version')
    op.drop_table('knowledge_version')

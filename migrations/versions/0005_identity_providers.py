"""identity providers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 21:30:32.567445

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('identity_providers',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('logo_url', sa.String(length=500), nullable=True),
    sa.Column('agency_id', sa.String(length=26), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_auth_method', sa.Enum('client_secret_basic', 'client_secret_post', 'private_key_jwt', name='clientauthmethod', native_enum=False, length=24), nullable=False),
    sa.Column('client_secret_ciphertext', sa.String(length=1000), nullable=True),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('signing_algorithms', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('claim_mapping', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('acr_levels', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('minimum_level', sa.SmallInteger(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('check_error', sa.String(length=500), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_identity_providers_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_providers')),
    sa.UniqueConstraint('slug', name=op.f('uq_identity_providers_slug'))
    )
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_providers_agency_id'), ['agency_id'], unique=False)

    op.create_table('app_codes',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=26), nullable=False),
    sa.Column('provider_id', sa.String(length=26), nullable=False),
    sa.Column('redirect_uri', sa.String(length=500), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('acr', sa.SmallInteger(), nullable=False),
    sa.Column('amr', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('mfa_complete', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_id', sa.String(length=26), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_app_codes_account_id_accounts')),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'], name=op.f('fk_app_codes_provider_id_identity_providers')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_app_codes_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_codes')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_app_codes_code_digest'))
    )
    with op.batch_alter_table('app_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_codes_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_app_codes_expires_at'), ['expires_at'], unique=False)

    op.create_table('identity_links',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('account_id', sa.String(length=26), nullable=False),
    sa.Column('account_kind', sa.Enum('citizen', 'staff', name='accountkind', native_enum=False, length=24), nullable=False),
    sa.Column('provider_id', sa.String(length=26), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_identity_links_account_id_accounts')),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'], name=op.f('fk_identity_links_provider_id_identity_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_links')),
    sa.UniqueConstraint('issuer', 'subject', 'account_kind', name=op.f('uq_identity_links_issuer_subject_account_kind'))
    )
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_links_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_links_provider_id'), ['provider_id'], unique=False)

    op.create_table('login_transactions',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('state_digest', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=26), nullable=False),
    sa.Column('audience', sa.Enum('citizen', 'staff', name='accountkind', native_enum=False, length=24), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('pkce_verifier_ciphertext', sa.String(length=200), nullable=False),
    sa.Column('app_redirect_uri', sa.String(length=500), nullable=False),
    sa.Column('app_code_challenge', sa.String(length=128), nullable=False),
    sa.Column('app_state', sa.String(length=500), nullable=True),
    sa.Column('link_account_id', sa.String(length=26), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['link_account_id'], ['accounts.id'], name=op.f('fk_login_transactions_link_account_id_accounts')),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'], name=op.f('fk_login_transactions_provider_id_identity_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_transactions')),
    sa.UniqueConstraint('state_digest', name=op.f('uq_login_transactions_state_digest'))
    )
    with op.batch_alter_table('login_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_transactions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_transactions_provider_id'), ['provider_id'], unique=False)



def downgrade():
    with op.batch_alter_table('login_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_transactions_provider_id'))
        batch_op.drop_index(batch_op.f('ix_login_transactions_expires_at'))

    op.drop_table('login_transactions')
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_links_provider_id'))
        batch_op.drop_index(batch_op.f('ix_identity_links_account_id'))

    op.drop_table('identity_links')
    with op.batch_alter_table('app_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_codes_expires_at'))
        batch_op.drop_index(batch_op.f('ix_app_codes_account_id'))

    op.drop_table('app_codes')
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_providers_agency_id'))

    op.drop_table('identity_providers')

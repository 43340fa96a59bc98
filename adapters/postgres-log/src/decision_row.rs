//! The sea-orm entity of a row of the `decisions` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "decisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub decision_id: Uuid,
    /// Written by the database: the order of insertion.
    pub seq: i64,
    pub created_at: DateTimeUtc,
    pub source: String,
    pub model_version: String,
    pub decision: String,
    pub probability_of_default: f64,
    #[sea_orm(column_type = "JsonBinary")]
    pub request: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub response: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

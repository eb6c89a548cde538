//! Describe Global, sObject basic info and sObject Describe, with the full field
//! metadata shape of a real org (clients such as jsforce read many of these keys).

use super::{ApiResponse, Ctx};
use crate::schema::{FieldDef, Kind, ObjectDef, Role};
use serde_json::{json, Value as Json};

fn urls(object: &ObjectDef, version: &str) -> Json {
    let base = object.url_base(version);
    json!({
        "compactLayouts": format!("{base}/describe/compactLayouts"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "approvalLayouts": format!("{base}/describe/approvalLayouts"),
        "uiDetailTemplate": "",
        "uiEditTemplate": "",
        "defaultValues": format!("{base}/defaultValues?recordTypeId&fields"),
        "describe": format!("{base}/describe"),
        "uiNewRecord": "",
        "quickActions": format!("{base}/quickActions"),
        "layouts": format!("{base}/describe/layouts"),
        "sobject": base,
    })
}

fn global_entry(object: &ObjectDef, version: &str) -> Json {
    json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": true,
        "custom": object.custom,
        "customSetting": false,
        "deepCloneable": false,
        "deletable": true,
        "deprecatedAndHidden": false,
        "feedEnabled": !object.custom,
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": object.key_prefix,
        "label": object.label,
        "labelPlural": object.label_plural,
        "layoutable": true,
        "mergeable": !object.custom,
        "mruEnabled": true,
        "name": object.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": true,
        "updateable": true,
        "urls": urls(object, version),
    })
}

/// `GET /sobjects`.
pub fn global(ctx: &Ctx) -> ApiResponse {
    let version = ctx.version.text();
    let sobjects: Vec<Json> = ctx
        .app
        .schema
        .objects
        .iter()
        .map(|o| global_entry(o, &version))
        .collect();
    ApiResponse::json(
        200,
        json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}).to_string(),
    )
}

/// `GET /sobjects/{Type}`.
pub fn basic_info(ctx: &Ctx, table: usize) -> ApiResponse {
    let object = &ctx.app.schema.objects[table];
    ApiResponse::json(
        200,
        json!({"objectDescribe": global_entry(object, &ctx.version.text()), "recentItems": []})
            .to_string(),
    )
}

fn field_json(field: &FieldDef) -> Json {
    let kind = field.kind;
    let picklist: Vec<Json> = field
        .picklist
        .iter()
        .map(|p| json!({"active": true, "defaultValue": p.default, "label": p.label, "validFor": null, "value": p.value}))
        .collect();
    let byte_length = if kind.is_text() || matches!(kind, Kind::Id | Kind::Reference) {
        field.length * 3
    } else {
        0
    };
    let filterable = field.filterable();
    let sortable = filterable && kind != Kind::Multipicklist;
    let compound_name = match &field.role {
        Role::Plain if field.name.starts_with("Billing") && field.name != "BillingAddress" => {
            Some("BillingAddress")
        }
        Role::Plain if field.name.starts_with("Shipping") && field.name != "ShippingAddress" => {
            Some("ShippingAddress")
        }
        Role::Plain if field.name.starts_with("Mailing") && field.name != "MailingAddress" => {
            Some("MailingAddress")
        }
        _ => None,
    };
    json!({
        "aggregatable": sortable && kind != Kind::Boolean,
        "aiPredictionField": false,
        "autoNumber": false,
        "byteLength": byte_length,
        "calculated": matches!(field.role, Role::ComposedName(_)),
        "calculatedFormula": null,
        "cascadeDelete": false,
        "caseSensitive": field.case_sensitive,
        "compoundFieldName": compound_name,
        "controllerName": null,
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": if kind == Kind::Boolean { json!(false) } else { Json::Null },
        "defaultValueFormula": null,
        "defaultedOnCreate": field.defaulted_on_create,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": field.digits,
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": field.external_id,
        "extraTypeInfo": match kind { Kind::Textarea => json!("plaintextarea"), _ => Json::Null },
        "filterable": filterable,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "groupable": sortable && !kind.is_decimal(),
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": field.id_lookup,
        "inlineHelpText": null,
        "label": field.label,
        "length": if kind.is_text() || matches!(kind, Kind::Id | Kind::Reference) { field.length } else { 0 },
        "mask": null,
        "maskType": null,
        "name": field.name,
        "nameField": field.name_field,
        "namePointing": false,
        "nillable": field.nillable(),
        "permissionable": !field.required && field.createable && !field.is_system(),
        "picklistValues": picklist,
        "polymorphicForeignKey": false,
        "precision": field.precision,
        "queryByDistance": false,
        "referenceTargetField": null,
        "referenceTo": field.reference_to,
        "relationshipName": field.relationship_name,
        "relationshipOrder": null,
        "restrictedDelete": false,
        "restrictedPicklist": field.restricted_picklist,
        "scale": field.scale,
        "searchPrefilterable": false,
        "soapType": kind.soap_type(),
        "sortable": sortable,
        "type": kind.type_name(),
        "unique": field.unique,
        "updateable": field.updateable,
        "writeRequiresMasterRead": false,
    })
}

/// `GET /sobjects/{Type}/describe`.
pub fn object(ctx: &Ctx, table: usize) -> ApiResponse {
    let object = &ctx.app.schema.objects[table];
    let version = ctx.version.text();
    let mut body = global_entry(object, &version);
    let fields: Vec<Json> = object.fields.iter().map(field_json).collect();
    let schema = &ctx.app.schema;
    let children: Vec<Json> = schema
        .child_relationships(&object.name)
        .into_iter()
        .map(|r| {
            let child = &schema.objects[r.child];
            json!({"cascadeDelete": false, "childSObject": child.name, "deprecatedAndHidden": false,
                   "field": child.fields[r.field].name, "junctionIdListNames": [], "junctionReferenceTo": [],
                   "relationshipName": r.name, "restrictedDelete": false})
        })
        .collect();
    let map = body.as_object_mut().expect("object");
    map.insert("actionOverrides".into(), json!([]));
    map.insert("childRelationships".into(), Json::Array(children));
    map.insert("compactLayoutable".into(), json!(true));
    map.insert("fields".into(), Json::Array(fields));
    map.insert("listviewable".into(), Json::Null);
    map.insert("lookupLayoutable".into(), Json::Null);
    map.insert("namedLayoutInfos".into(), json!([]));
    map.insert("networkScopeFieldName".into(), Json::Null);
    map.insert(
        "recordTypeInfos".into(),
        json!([{"active": true, "available": true, "defaultRecordTypeMapping": true, "developerName": "Master",
                "master": true, "name": "Master", "recordTypeId": "012000000000000AAA",
                "urls": {"layout": format!("{}/describe/layouts/012000000000000AAA", object.url_base(&version))}}]),
    );
    map.insert("searchLayoutable".into(), json!(true));
    map.insert(
        "supportedScopes".into(),
        json!([{"label": "All accounts", "name": "everything"}]),
    );
    ApiResponse::json(200, body.to_string())
}

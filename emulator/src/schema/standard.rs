//! Account and Contact as a fresh Developer Edition org describes them (the fields a sync
//! and a person touch), plus the system fields every object carries.

use super::{FieldDef, Kind, ObjectDef, PicklistEntry, Role};

/// The system fields every object starts with, in describe order.
pub(super) fn leading_system_fields() -> Vec<FieldDef> {
    let mut id = system(FieldDef::new("Id", "Record ID", Kind::Id), Role::Id);
    id.id_lookup = true;
    vec![
        id,
        system(
            FieldDef::new("IsDeleted", "Deleted", Kind::Boolean),
            Role::IsDeleted,
        ),
    ]
}

/// The audit fields every object ends with, in describe order.
pub(super) fn audit_fields() -> Vec<FieldDef> {
    vec![
        system(
            FieldDef::new("CreatedDate", "Created Date", Kind::DateTime),
            Role::CreatedDate,
        ),
        system(
            user_ref("CreatedById", "Created By ID", "CreatedBy"),
            Role::CreatedById,
        ),
        system(
            FieldDef::new("LastModifiedDate", "Last Modified Date", Kind::DateTime),
            Role::LastModifiedDate,
        ),
        system(
            user_ref("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
            Role::LastModifiedById,
        ),
        system(
            FieldDef::new("SystemModstamp", "System Modstamp", Kind::DateTime),
            Role::SystemModstamp,
        ),
    ]
}

/// `OwnerId`, defaulted to the calling user.
pub(super) fn owner_field() -> FieldDef {
    let mut f = user_ref("OwnerId", "Owner ID", "Owner");
    f.role = Role::OwnerId;
    f.defaulted_on_create = true;
    f
}

fn system(mut f: FieldDef, role: Role) -> FieldDef {
    f.role = role;
    f.createable = false;
    f.updateable = false;
    f.defaulted_on_create = true;
    f
}

fn user_ref(name: &str, label: &str, relationship: &str) -> FieldDef {
    reference(name, label, "User", relationship)
}

/// A lookup field.
pub(super) fn reference(name: &str, label: &str, to: &str, relationship: &str) -> FieldDef {
    let mut f = FieldDef::new(name, label, Kind::Reference);
    f.reference_to = vec![to.to_string()];
    f.relationship_name = Some(relationship.to_string());
    f
}

fn text(name: &str, label: &str, length: u32) -> FieldDef {
    let mut f = FieldDef::new(name, label, Kind::String);
    f.length = length;
    f
}

fn picklist(name: &str, label: &str, values: &[&str]) -> FieldDef {
    let mut f = FieldDef::new(name, label, Kind::Picklist);
    f.length = 255;
    f.picklist = values
        .iter()
        .map(|v| PicklistEntry {
            value: v.to_string(),
            label: v.to_string(),
            default: false,
        })
        .collect();
    f
}

fn address(prefix: &str, label: &str, at: usize) -> Vec<FieldDef> {
    let mut street = FieldDef::new(
        &format!("{prefix}Street"),
        &format!("{label} Street"),
        Kind::Textarea,
    );
    street.length = 255;
    let parts = vec![
        street,
        text(&format!("{prefix}City"), &format!("{label} City"), 40),
        text(
            &format!("{prefix}State"),
            &format!("{label} State/Province"),
            80,
        ),
        text(
            &format!("{prefix}PostalCode"),
            &format!("{label} Zip/Postal Code"),
            20,
        ),
        text(&format!("{prefix}Country"), &format!("{label} Country"), 80),
    ];
    let mut compound = FieldDef::new(
        &format!("{prefix}Address"),
        &format!("{label} Address"),
        Kind::Address,
    );
    compound.role = Role::Address([at, at + 1, at + 2, at + 3, at + 4]);
    compound.createable = false;
    compound.updateable = false;
    let mut all = parts;
    all.push(compound);
    all
}

fn account() -> ObjectDef {
    let mut fields = leading_system_fields();
    let mut name = text("Name", "Account Name", 255);
    name.required = true;
    name.name_field = true;
    fields.push(name);
    fields.push(picklist(
        "Type",
        "Account Type",
        &[
            "Prospect",
            "Customer - Direct",
            "Customer - Channel",
            "Channel Partner / Reseller",
            "Installation Partner",
            "Technology Partner",
            "Other",
        ],
    ));
    fields.push(reference(
        "ParentId",
        "Parent Account ID",
        "Account",
        "Parent",
    ));
    let at = fields.len();
    fields.extend(address("Billing", "Billing", at));
    let at = fields.len();
    fields.extend(address("Shipping", "Shipping", at));
    fields.push(FieldDef::new("Phone", "Account Phone", Kind::Phone));
    fields.push(FieldDef::new("Fax", "Account Fax", Kind::Phone));
    fields.push(text("AccountNumber", "Account Number", 40));
    fields.push(FieldDef::new("Website", "Website", Kind::Url));
    fields.push(text("Sic", "SIC Code", 20));
    fields.push(picklist(
        "Industry",
        "Industry",
        &[
            "Agriculture",
            "Apparel",
            "Banking",
            "Biotechnology",
            "Chemicals",
            "Communications",
            "Construction",
            "Consulting",
            "Education",
            "Electronics",
            "Energy",
            "Engineering",
            "Entertainment",
            "Environmental",
            "Finance",
            "Food & Beverage",
            "Government",
            "Healthcare",
            "Hospitality",
            "Insurance",
            "Machinery",
            "Manufacturing",
            "Media",
            "Not For Profit",
            "Recreation",
            "Retail",
            "Shipping",
            "Technology",
            "Telecommunications",
            "Transportation",
            "Utilities",
            "Other",
        ],
    ));
    fields.push(FieldDef::new(
        "AnnualRevenue",
        "Annual Revenue",
        Kind::Currency,
    ));
    let mut employees = FieldDef::new("NumberOfEmployees", "Employees", Kind::Int);
    employees.digits = 8;
    fields.push(employees);
    fields.push(picklist(
        "Ownership",
        "Ownership",
        &["Public", "Private", "Subsidiary", "Other"],
    ));
    fields.push(text("TickerSymbol", "Ticker Symbol", 20));
    let mut description = FieldDef::new("Description", "Account Description", Kind::Textarea);
    description.length = 32_000;
    fields.push(description);
    fields.push(picklist(
        "Rating",
        "Account Rating",
        &["Hot", "Warm", "Cold"],
    ));
    fields.push(text("Site", "Account Site", 80));
    fields.push(owner_field());
    fields.extend(audit_fields());
    ObjectDef::new("Account", "Account", "Accounts", "001", fields)
}

fn contact() -> ObjectDef {
    let mut fields = leading_system_fields();
    fields.push(reference("AccountId", "Account ID", "Account", "Account"));
    let mut last = text("LastName", "Last Name", 80);
    last.required = true;
    fields.push(last);
    fields.push(text("FirstName", "First Name", 40));
    fields.push(picklist(
        "Salutation",
        "Salutation",
        &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."],
    ));
    let (last_at, first_at) = (fields.len() - 3, fields.len() - 2);
    let mut name = text("Name", "Full Name", 121);
    name.role = Role::ComposedName(vec![first_at, last_at]);
    name.createable = false;
    name.updateable = false;
    name.name_field = true;
    fields.push(name);
    let at = fields.len();
    fields.extend(address("Mailing", "Mailing", at));
    fields.push(FieldDef::new("Phone", "Business Phone", Kind::Phone));
    fields.push(FieldDef::new("MobilePhone", "Mobile Phone", Kind::Phone));
    let mut email = FieldDef::new("Email", "Email", Kind::Email);
    email.length = 80;
    email.id_lookup = true;
    fields.push(email);
    fields.push(text("Title", "Title", 128));
    fields.push(text("Department", "Department", 80));
    fields.push(picklist(
        "LeadSource",
        "Lead Source",
        &[
            "Web",
            "Phone Inquiry",
            "Partner Referral",
            "Purchased List",
            "Other",
        ],
    ));
    fields.push(FieldDef::new("Birthdate", "Birthdate", Kind::Date));
    let mut description = FieldDef::new("Description", "Contact Description", Kind::Textarea);
    description.length = 32_000;
    fields.push(description);
    fields.push(FieldDef::new(
        "HasOptedOutOfEmail",
        "Email Opt Out",
        Kind::Boolean,
    ));
    fields.push(owner_field());
    fields.extend(audit_fields());
    ObjectDef::new("Contact", "Contact", "Contacts", "003", fields)
}

/// The standard objects the emulator always serves.
pub(super) fn objects() -> Vec<ObjectDef> {
    vec![account(), contact()]
}

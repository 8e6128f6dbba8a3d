"""Column names and roles of the Tmall coupon data: the one place that defines the schema."""

ID = "ID"
RAW_RESPONSE = "coupon_ind"
RESPONSE = "flag"

CATEGORICAL = ("job", "marriage")
YES_NO = ("default", "returned", "loan")
COUNTS = ("age", "coupon_used_in_last6_month", "coupon_used_in_last_month")

RAW_COLUMNS = (
    ID, "age", "job", "marriage", "default", "returned", "loan",
    "coupon_used_in_last6_month", "coupon_used_in_last_month", RAW_RESPONSE,
)

#: dummy made from each yes/no column by cleaning
DUMMY = {col: f"{col}_yes" for col in YES_NO}

#: the full model's terms, as formula terms; a categorical enters or leaves whole
FULL_TERMS = (
    "age", "C(job)", "C(marriage)", "default_yes", "returned_yes", "loan_yes",
    "coupon_used_in_last6_month", "coupon_used_in_last_month",
)

COLUMN_DESCRIPTIONS = {
    "ID": "customer identifier (unique; dropped before modelling)",
    "age": "age in years",
    "job": "occupation (12 categories, including 'unknown')",
    "marriage": "marital status: divorced, married or single",
    "default": "has defaulted on credit before (yes/no)",
    "returned": "has returned goods (yes/no)",
    "loan": "uses ANT Credit Pay (loan) (yes/no)",
    "coupon_used_in_last6_month": "number of coupons used in the last six months",
    "coupon_used_in_last_month": "number of coupons used in the last month",
    "coupon_ind": "used the coupon of this campaign (1) or not (0); the response, renamed `flag`",
}

#: display names of the cleaned variables (figures, tables and generated sentences)
VARIABLE_LABELS = {
    "age": "Age",
    "job": "Job",
    "marriage": "Marital status",
    "coupon_used_in_last6_month": "Coupons used, last 6 months",
    "coupon_used_in_last_month": "Coupons used, last month",
    "default_yes": "Defaulted before",
    "returned_yes": "Returned goods",
    "loan_yes": "Uses ANT Credit Pay",
    "flag": "Used the coupon",
}

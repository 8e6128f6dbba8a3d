## Reference values from R for tests/test_firth.py::test_sparse_level_matches_brglm2 (issue 22, item 9).
## Usage (from the project root):  Rscript tests/reference/r/firth_sparse.R [tests/reference/r/firth_sparse.json]
## Computed with R 4.2.2 and the Debian packages r-cran-brglm2 0.9, r-cran-rms, r-cran-jsonlite.
##
## The case: 2,000 rows of the embedded simulated sample (data/simulated_tianmao.csv) spread evenly over the
## file (rows floor(k n / 2000) + 1, k = 0..1999: the fuzzer's base, benchmarks/fuzz.py), the first of them
## with marriage set to a level of its own ("widowed", seen in that one row). The default specification's
## full model on all 2,000 rows (--test-size 0): rcs(age, 5 knots), job and marriage (reference: the most
## frequent level), default, returned, loan (yes = 1), rcs(coupon months 2-6, 3 knots), coupons last month
## as categories 0..3 and 4+. Before issue 22, the package's Firth iteration alternated between two points
## here and never converged.
##
## Knots: Hmisc::rcspline.eval(x, nk, knots.only = TRUE) (rms's default placement; the package's own choice
## is tested equal in tests/test_splines.py). Fit: glm(..., method = brglm2::brglmFit, type = "AS_mean")
## with epsilon = 1e-10 (brglm2's default stops at 1e-6), started as the package starts (see below). Stored: the knots, the reference
## levels, coefficients and standard errors per term (spline columns in rms's order x, x', x'', ...; factor
## levels by name), the iterations brglm2 took and its convergence flag.
suppressPackageStartupMessages({ library(brglm2); library(rms); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
OUT <- if (length(args) >= 1) args[1] else "tests/reference/r/firth_sparse.json"
EPS <- if (length(args) >= 2) as.numeric(args[2]) else 1e-10
SLOW <- if (length(args) >= 3) as.numeric(args[3]) else 1

all_rows <- read.csv("data/simulated_tianmao.csv", stringsAsFactors = FALSE, colClasses = c(job = "character"))
n <- nrow(all_rows)
d <- all_rows[floor((0:1999) * n / 2000) + 1, ]
d$marriage[1] <- "widowed"
d$coupons_months_2_6 <- d$coupon_used_in_last6_month - d$coupon_used_in_last_month
d$coupons_last_month <- factor(pmin(d$coupon_used_in_last_month, 4))
most <- function(x) names(sort(table(x), decreasing = TRUE))[1]
ref_job <- most(d$job); ref_marriage <- most(d$marriage)
d$job <- relevel(factor(d$job), ref_job)
d$marriage <- relevel(factor(d$marriage), ref_marriage)
d$default_yes <- as.integer(d$default == "yes")
d$returned_yes <- as.integer(d$returned == "yes")
d$loan_yes <- as.integer(d$loan == "yes")
k_age <- rcspline.eval(d$age, nk = 5, knots.only = TRUE)
k_cm <- rcspline.eval(d$coupons_months_2_6, nk = 3, knots.only = TRUE)
form <- coupon_ind ~ rcs(age, k_age) + job + marriage + default_yes + returned_yes + loan_yes +
  rcs(coupons_months_2_6, k_cm) + coupons_last_month
## brglm2 starts from the maximum-likelihood fit by default; here that fit diverges (the widowed row has no
## event), and from there brglmFit diverges too (widowed -> -1e15 after 10,000 iterations, with slowit 1,
## 0.5 or 0.2). Started where the package starts (intercept = logit of the event share, the rest 0) it
## converges (24 iterations), to the root of the adjusted score that the test compares with.
p_cols <- ncol(model.matrix(form, d))
start <- c(qlogis(mean(d$coupon_ind)), rep(0, p_cols - 1))
fit <- glm(form, family = binomial("logit"), data = d, method = brglm2::brglmFit, type = "AS_mean",
           epsilon = EPS, maxit = 10000, slowit = SLOW, start = start)
b <- coef(fit); se <- sqrt(diag(vcov(fit)))
pick <- function(prefix) { i <- startsWith(names(b), prefix); list(estimate = unname(b[i]), std_error = unname(se[i]),
                                                                     names = sub(prefix, "", names(b)[i], fixed = TRUE)) }
res <- list(
  description = paste("2,000 rows of data/simulated_tianmao.csv spread evenly, the first with marriage 'widowed'",
                      "(a level seen in one row); the default specification's full model"),
  rows = nrow(d), events = sum(d$coupon_ind), widowed_response = d$coupon_ind[1],
  knots = list(age = unname(k_age), coupons_months_2_6 = unname(k_cm)),
  reference = list(job = ref_job, marriage = ref_marriage),
  terms = list(intercept = pick("(Intercept)"), age = pick("rcs(age, k_age)"), job = pick("job"),
               marriage = pick("marriage"), default_yes = pick("default_yes"), returned_yes = pick("returned_yes"),
               loan_yes = pick("loan_yes"), coupons_months_2_6 = pick("rcs(coupons_months_2_6, k_cm)"),
               coupons_last_month = pick("coupons_last_month")),
  loglik_unpenalized = as.numeric(logLik(fit)),
  converged = fit$converged, iterations = fit$iter,
  provenance = list(r_version = R.version.string,
                    packages = list(brglm2 = as.character(packageVersion("brglm2")),
                                    rms = as.character(packageVersion("rms")),
                                    Hmisc = as.character(packageVersion("Hmisc"))),
                    date = format(Sys.Date()), command = "Rscript tests/reference/r/firth_sparse.R"))
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), OUT)
message("wrote ", OUT, "; converged = ", fit$converged, " in ", fit$iter, " iterations")

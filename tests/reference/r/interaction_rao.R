d <- read.csv("tests/data/public/titanic.csv")
d <- d[!is.na(d$age), ]
d$y <- as.integer(d$survived == "yes")
d$sex <- relevel(factor(d$sex), ref = "male")
d$passengerClass <- relevel(factor(d$passengerClass), ref = "3rd")
ctl <- glm.control(epsilon = 1e-15, maxit = 100)
m0 <- glm(y ~ sex + passengerClass + age, binomial, data = d, control = ctl)
out <- list()
for (f in c("sex:passengerClass", "sex:age", "passengerClass:age")) {
  m1 <- update(m0, as.formula(paste(". ~ . +", f)))
  a <- anova(m0, m1, test = "Rao")
  out[[f]] <- list(rao = a$Rao[2], df = a$Df[2], p = a[["Pr(>Chi)"]][2])
}
m1 <- update(m0, . ~ . + sex:passengerClass + sex:age + passengerClass:age)
a <- anova(m0, m1, test = "Rao")
out[["global"]] <- list(rao = a$Rao[2], df = a$Df[2], p = a[["Pr(>Chi)"]][2])
out[["provenance"]] <- list(R = R.version.string, date = as.character(Sys.Date()), script = "tests/reference/r/interaction_rao.R",
                            call = "anova(m0, update(m0, . ~ . + a:b), test = 'Rao'); m0 = glm(survived ~ sex + passengerClass + age, binomial) on complete cases",
                            glm_control = "epsilon = 1e-15, maxit = 100")
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))
